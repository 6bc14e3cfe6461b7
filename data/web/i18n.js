// The page's strings, in the languages of the app's po/ (English and German).
// One table, keyed by message; `{name}` placeholders are filled by tr().

const STRINGS = {
  en: {
    'page.title': 'Switchyard',
    'link.connecting': 'Connecting…',
    'link.connected': 'Connected',
    'link.reconnecting': 'Reconnecting in {s} s',
    'link.reconnecting-now': 'Reconnecting…',
    'link.offline': 'Offline, retrying in {s} s',
    'link.offline-now': 'Offline, retrying…',
    'link.retry': 'Retry now',
    'link.label': 'Connection',
    'announce.connected': 'Connected to {server}.',
    'announce.lost': 'Connection lost. Controls are disabled until it is back.',
    'announce.refused': '{relay}: {message}',
    'reason.revoked': 'This link is no longer valid: its token was revoked or has expired. Ask for a new link.',
    'reason.shutdown': 'The server is shutting down.',
    'reason.unreachable': 'The server cannot be reached.',
    'reason.refused': 'The server refused the connection: {message}',
    'reason.closed': 'The server closed the connection: {message}',
    'access.view': 'View only: this link lets you watch sensors, relays and notes. Ask for a control link to switch relays or post notes.',
    'access.offline': 'Controls are disabled while the connection is down.',
    'rtt.label': 'Round trip',
    'rtt.title': 'Time for a message to reach the server and come back',
    'section.sensors': 'Sensors',
    'section.relays': 'Relays',
    'section.notes': 'Notes',
    'sensor.temperature': 'Room temperature',
    'sensor.humidity': 'Relative humidity',
    'sensor.pressure': 'Air pressure',
    'sensor.light': 'Light level',
    'sensor.voltage': 'Supply voltage',
    'sensor.current': 'Load current',
    'sensor.stale': 'No signal',
    'sensor.stale-long': '{name}: no signal, showing the last value',
    'sensor.trend': 'Trend of {name} over up to {minutes} minutes',
    'sensor.range': 'Scale {min} to {max}',
    'relay.on': 'On',
    'relay.off': 'Off',
    'relay.switching-on': 'Switching on…',
    'relay.switching-off': 'Switching off…',
    'relay.stuck': 'Not responding',
    'relay.interlock': 'Never on together with {name}',
    'relay.max-on': 'Switches off after {duration}',
    'relay.pulse': 'Pulse',
    'relay.pulse-label': 'Pulse {name} for one second',
    'relay.unavailable': 'Unavailable — the Switchyard this one mirrors is not connected',
    'mirror.note': 'Mirrored from another Switchyard',
    'announce.unavailable': 'Relays unavailable: the Switchyard this one mirrors is not connected.',
    'announce.available': 'Relays available again.',
    'notes.placeholder': 'A note for every display',
    'notes.label': 'New note',
    'notes.post': 'Post',
    'notes.empty': 'No notes yet.',
    'notes.from': 'from {from}',
    'error.disconnected': 'Not connected.',
    'duration.s': '{n} s',
    'duration.min': '{n} min',
    'duration.h': '{n} h',
  },
  de: {
    'page.title': 'Switchyard',
    'link.connecting': 'Verbindung wird aufgebaut …',
    'link.connected': 'Verbunden',
    'link.reconnecting': 'Neuer Versuch in {s} s',
    'link.reconnecting-now': 'Verbindung wird wiederhergestellt …',
    'link.offline': 'Offline, neuer Versuch in {s} s',
    'link.offline-now': 'Offline, neuer Versuch …',
    'link.retry': 'Jetzt verbinden',
    'link.label': 'Verbindung',
    'announce.connected': 'Verbunden mit {server}.',
    'announce.lost': 'Verbindung unterbrochen. Die Bedienelemente sind gesperrt, bis sie wieder besteht.',
    'announce.refused': '{relay}: {message}',
    'reason.revoked': 'Dieser Link ist nicht mehr gültig: Sein Token wurde widerrufen oder ist abgelaufen. Bitte fordern Sie einen neuen Link an.',
    'reason.shutdown': 'Der Server wird heruntergefahren.',
    'reason.unreachable': 'Der Server ist nicht erreichbar.',
    'reason.refused': 'Der Server hat die Verbindung abgelehnt: {message}',
    'reason.closed': 'Der Server hat die Verbindung geschlossen: {message}',
    'access.view': 'Nur Ansicht: Mit diesem Link können Sie Sensoren, Relais und Notizen beobachten. Zum Schalten von Relais oder Schreiben von Notizen benötigen Sie einen Steuerungs-Link.',
    'access.offline': 'Die Bedienelemente sind gesperrt, solange keine Verbindung besteht.',
    'rtt.label': 'Umlaufzeit',
    'rtt.title': 'Zeit, die eine Nachricht zum Server und zurück braucht',
    'section.sensors': 'Sensoren',
    'section.relays': 'Relais',
    'section.notes': 'Notizen',
    'sensor.temperature': 'Raumtemperatur',
    'sensor.humidity': 'Relative Luftfeuchte',
    'sensor.pressure': 'Luftdruck',
    'sensor.light': 'Helligkeit',
    'sensor.voltage': 'Versorgungsspannung',
    'sensor.current': 'Laststrom',
    'sensor.stale': 'Kein Signal',
    'sensor.stale-long': '{name}: kein Signal, der letzte Wert wird angezeigt',
    'sensor.trend': 'Verlauf: {name} über bis zu {minutes} Minuten',
    'sensor.range': 'Skala {min} bis {max}',
    'relay.on': 'Ein',
    'relay.off': 'Aus',
    'relay.switching-on': 'Wird eingeschaltet …',
    'relay.switching-off': 'Wird ausgeschaltet …',
    'relay.stuck': 'Reagiert nicht',
    'relay.interlock': 'Nie gleichzeitig mit {name} an',
    'relay.max-on': 'Schaltet nach {duration} ab',
    'relay.pulse': 'Impuls',
    'relay.pulse-label': '{name} für eine Sekunde einschalten',
    'relay.unavailable': 'Nicht verfügbar – die gespiegelte Switchyard-Instanz ist nicht verbunden',
    'mirror.note': 'Gespiegelt von einer anderen Switchyard-Instanz',
    'announce.unavailable': 'Relais nicht verfügbar: Die gespiegelte Switchyard-Instanz ist nicht verbunden.',
    'announce.available': 'Die Relais sind wieder verfügbar.',
    'notes.placeholder': 'Eine Notiz für alle Anzeigen',
    'notes.label': 'Neue Notiz',
    'notes.post': 'Senden',
    'notes.empty': 'Noch keine Notizen.',
    'notes.from': 'von {from}',
    'error.disconnected': 'Nicht verbunden.',
    'duration.s': '{n} s',
    'duration.min': '{n} min',
    'duration.h': '{n} h',
  },
};

export const LANGUAGES = Object.keys(STRINGS);

// The first of the browser's languages that the page speaks ("de-AT" counts
// as "de"); English otherwise.
export function pickLanguage (languages) {
  for (const tag of languages || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (base in STRINGS)
      return base;
  }
  return 'en';
}

export function translator (lang) {
  const table = STRINGS[lang] || STRINGS.en;
  return function tr (key, params = {}) {
    const text = table[key] ?? STRINGS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (match, name) =>
      name in params ? String(params[name]) : match);
  };
}

// Every language has every key: checked by tests/browser/test-model.mjs.
export function missingKeys (lang) {
  return Object.keys(STRINGS.en).filter(key => !(key in STRINGS[lang]));
}
