"""A small TAP writer for the install suite's Python tests.

Each check prints one `ok`/`not ok` line as it finishes, a failure's
diagnostics as `#` lines and again on stderr (which `meson test
--print-errorlogs` shows), the plan comes last, and the exit status is 1 when
anything failed.
"""

import sys


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def _line(self, ok, name, directive=''):
        self.count += 1
        status = 'ok' if ok else 'not ok'
        print(f'{status} {self.count} - {name}{directive}', flush=True)

    def diag(self, text):
        for line in str(text).splitlines() or ['']:
            print(f'# {line}', flush=True)

    def check(self, ok, name, diagnostics=None):
        """Report one check; on failure print DIAGNOSTICS under it."""
        self._line(bool(ok), name)
        if not ok:
            self.failed += 1
            if diagnostics is not None:
                self.diag(diagnostics)
            print(f'not ok {self.count} - {name}', file=sys.stderr, flush=True)
            if diagnostics is not None:
                print(f'{diagnostics}\n', file=sys.stderr, flush=True)
        return bool(ok)

    def equal(self, got, want, name):
        return self.check(got == want, name, f'expected: {want!r}\n     got: {got!r}')

    def skip(self, name, reason):
        self._line(True, name, f' # SKIP {reason}')

    def bail_out(self, reason):
        print(f'Bail out! {reason}', flush=True)
        sys.exit(1)

    def done(self):
        print(f'1..{self.count}', flush=True)
        sys.exit(1 if self.failed else 0)
