/**
 * A country's main IANA zone, by ISO code and by English or Italian name (lower case, as typed in a company's
 * billing address). Countries spanning several zones get the one most of their business lives in.
 */
const COUNTRIES: [code: string, zone: string, ...names: string[]][] = [
  ['IT', 'Europe/Rome', 'italy', 'italia'],
  ['SM', 'Europe/San_Marino', 'san marino'],
  ['VA', 'Europe/Vatican', 'vatican city', 'città del vaticano', 'vaticano'],
  ['FR', 'Europe/Paris', 'france', 'francia'],
  ['DE', 'Europe/Berlin', 'germany', 'germania', 'deutschland'],
  ['ES', 'Europe/Madrid', 'spain', 'spagna', 'españa'],
  ['PT', 'Europe/Lisbon', 'portugal', 'portogallo'],
  [
    'GB',
    'Europe/London',
    'united kingdom',
    'regno unito',
    'uk',
    'great britain',
    'gran bretagna',
    'england',
    'inghilterra',
  ],
  ['IE', 'Europe/Dublin', 'ireland', 'irlanda'],
  ['NL', 'Europe/Amsterdam', 'netherlands', 'paesi bassi', 'olanda', 'holland'],
  ['BE', 'Europe/Brussels', 'belgium', 'belgio'],
  ['LU', 'Europe/Luxembourg', 'luxembourg', 'lussemburgo'],
  ['CH', 'Europe/Zurich', 'switzerland', 'svizzera'],
  ['AT', 'Europe/Vienna', 'austria'],
  ['DK', 'Europe/Copenhagen', 'denmark', 'danimarca'],
  ['SE', 'Europe/Stockholm', 'sweden', 'svezia'],
  ['NO', 'Europe/Oslo', 'norway', 'norvegia'],
  ['FI', 'Europe/Helsinki', 'finland', 'finlandia'],
  ['IS', 'Atlantic/Reykjavik', 'iceland', 'islanda'],
  ['PL', 'Europe/Warsaw', 'poland', 'polonia'],
  ['CZ', 'Europe/Prague', 'czech republic', 'czechia', 'repubblica ceca'],
  ['SK', 'Europe/Bratislava', 'slovakia', 'slovacchia'],
  ['HU', 'Europe/Budapest', 'hungary', 'ungheria'],
  ['SI', 'Europe/Ljubljana', 'slovenia'],
  ['HR', 'Europe/Zagreb', 'croatia', 'croazia'],
  ['RS', 'Europe/Belgrade', 'serbia'],
  ['RO', 'Europe/Bucharest', 'romania'],
  ['BG', 'Europe/Sofia', 'bulgaria'],
  ['GR', 'Europe/Athens', 'greece', 'grecia'],
  ['MT', 'Europe/Malta', 'malta'],
  ['CY', 'Asia/Nicosia', 'cyprus', 'cipro'],
  ['EE', 'Europe/Tallinn', 'estonia'],
  ['LV', 'Europe/Riga', 'latvia', 'lettonia'],
  ['LT', 'Europe/Vilnius', 'lithuania', 'lituania'],
  ['UA', 'Europe/Kyiv', 'ukraine', 'ucraina'],
  ['TR', 'Europe/Istanbul', 'turkey', 'turchia', 'türkiye'],
  ['RU', 'Europe/Moscow', 'russia'],
  ['AL', 'Europe/Tirane', 'albania'],
  [
    'US',
    'America/New_York',
    'united states',
    'stati uniti',
    'usa',
    'united states of america',
    "stati uniti d'america",
  ],
  ['CA', 'America/Toronto', 'canada'],
  ['MX', 'America/Mexico_City', 'mexico', 'messico'],
  ['BR', 'America/Sao_Paulo', 'brazil', 'brasile'],
  ['AR', 'America/Argentina/Buenos_Aires', 'argentina'],
  ['CL', 'America/Santiago', 'chile', 'cile'],
  ['CO', 'America/Bogota', 'colombia'],
  ['PE', 'America/Lima', 'peru', 'perù'],
  ['CN', 'Asia/Shanghai', 'china', 'cina'],
  ['JP', 'Asia/Tokyo', 'japan', 'giappone'],
  ['KR', 'Asia/Seoul', 'south korea', 'corea del sud', 'korea', 'corea'],
  ['IN', 'Asia/Kolkata', 'india'],
  ['SG', 'Asia/Singapore', 'singapore'],
  ['HK', 'Asia/Hong_Kong', 'hong kong'],
  ['TW', 'Asia/Taipei', 'taiwan'],
  ['TH', 'Asia/Bangkok', 'thailand', 'thailandia'],
  ['VN', 'Asia/Ho_Chi_Minh', 'vietnam'],
  ['ID', 'Asia/Jakarta', 'indonesia'],
  ['MY', 'Asia/Kuala_Lumpur', 'malaysia', 'malesia'],
  ['PH', 'Asia/Manila', 'philippines', 'filippine'],
  ['AE', 'Asia/Dubai', 'united arab emirates', 'emirati arabi uniti', 'uae'],
  ['SA', 'Asia/Riyadh', 'saudi arabia', 'arabia saudita'],
  ['IL', 'Asia/Jerusalem', 'israel', 'israele'],
  ['EG', 'Africa/Cairo', 'egypt', 'egitto'],
  ['MA', 'Africa/Casablanca', 'morocco', 'marocco'],
  ['TN', 'Africa/Tunis', 'tunisia'],
  ['ZA', 'Africa/Johannesburg', 'south africa', 'sudafrica'],
  ['NG', 'Africa/Lagos', 'nigeria'],
  ['KE', 'Africa/Nairobi', 'kenya'],
  ['AU', 'Australia/Sydney', 'australia'],
  ['NZ', 'Pacific/Auckland', 'new zealand', 'nuova zelanda'],
];

const BY_KEY = new Map<string, string>();
for (const [code, zone, ...names] of COUNTRIES) {
  BY_KEY.set(code.toLowerCase(), zone);
  for (const n of names) BY_KEY.set(n, zone);
}

/** The main zone of a country written as an ISO code or an English/Italian name; null when unknown. */
export function countryZone(country: string | null | undefined): string | null {
  if (!country) return null;
  const key = country.trim().toLowerCase().replace(/\s+/g, ' ').replace(/\.$/, '');
  return BY_KEY.get(key) ?? null;
}
