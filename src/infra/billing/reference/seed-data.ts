/**
 * Generates a plausible small utility, deterministically from a seed: customers, addresses,
 * water/electric/gas meters with their dials and radio ids, routes, and two years of monthly
 * reads with seasonal use (water peaks in summer, gas in winter, electric in both).
 * Pure: no I/O, the "today" comes in.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'James',
  'Mary',
  'Robert',
  'Patricia',
  'John',
  'Jennifer',
  'Michael',
  'Linda',
  'David',
  'Elizabeth',
  'William',
  'Barbara',
  'Richard',
  'Susan',
  'Joseph',
  'Jessica',
  'Thomas',
  'Sarah',
  'Carlos',
  'Karen',
  'Daniel',
  'Lisa',
  'Matthew',
  'Nancy',
  'Anthony',
  'Betty',
  'Mark',
  'Sandra',
  'José',
  'Ashley',
  'Steven',
  'Kimberly',
  'Andrew',
  'Emily',
  'Kevin',
  'Donna',
  'Brian',
  'Michelle',
  'Nguyen',
  'Maria',
];
const LAST = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Rodriguez',
  'Martinez',
  'Hernandez',
  'Lopez',
  'Gonzalez',
  'Wilson',
  'Anderson',
  'Thomas',
  'Taylor',
  'Moore',
  'Jackson',
  'Martin',
  'Lee',
  'Perez',
  'Thompson',
  'White',
  'Harris',
  'Sanchez',
  'Clark',
  'Ramirez',
  'Lewis',
  'Robinson',
  'Walker',
  'Young',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Torres',
  'Nguyen',
  'Hill',
  'Flores',
  "O'Brien",
  'Peña',
];
const STREETS = [
  'Oak',
  'Maple',
  'Cedar',
  'Pine',
  'Elm',
  'Washington',
  'Lake',
  'Hill',
  'Park',
  'Main',
  'Walnut',
  'Sunset',
  'Ridge',
  'Willow',
  'Church',
  'Mill',
  'River',
  'Prairie',
  'Meadow',
  'Highland',
];
const SUFFIX = ['St', 'Ave', 'Rd', 'Dr', 'Ln', 'Ct', 'Blvd', 'Way'];
const CITIES = ['Springfield', 'Riverton', 'Fairview', 'Lakeside', 'Millbrook'];
const LOCATIONS = [
  'Front yard near sidewalk',
  'Left side of house',
  'Right side, behind gate',
  'Back yard by fence',
  'Curb box at driveway',
  'Basement, side door',
  'Garage wall',
  'Alley side',
  'Under deck',
  'Near AC unit',
];
const BUSINESS = ['Hardware', 'Diner', 'Laundromat', 'Dental', 'Auto Repair', 'Bakery', 'Market', 'Church', 'Motel'];

export interface SeedOptions {
  accounts: number;
  routes: number;
  seed: number;
  today: string;
  historyMonths?: number;
}

export interface SeedData {
  routes: Record<string, unknown>[];
  premises: Record<string, unknown>[];
  rates: Record<string, unknown>[];
  accounts: Record<string, unknown>[];
  meters: Record<string, unknown>[];
  registers: Record<string, unknown>[];
  history: Record<string, unknown>[];
  serviceOrders: Record<string, unknown>[];
}

type MeterType = 'W' | 'E' | 'G';

const RATES = [
  { rate_code: 'W-RES', meter_type: 'W', description: 'Water residential', fixed_charge: 14.5, unit_charge: 0.0061 },
  { rate_code: 'W-COM', meter_type: 'W', description: 'Water commercial', fixed_charge: 38.0, unit_charge: 0.0055 },
  { rate_code: 'E-RES', meter_type: 'E', description: 'Electric residential', fixed_charge: 11.0, unit_charge: 0.1325 },
  { rate_code: 'E-COM', meter_type: 'E', description: 'Electric commercial', fixed_charge: 42.0, unit_charge: 0.118 },
  { rate_code: 'G-RES', meter_type: 'G', description: 'Gas residential', fixed_charge: 12.25, unit_charge: 0.94 },
];

/** Mean units per day by type and register unit, and how strongly and when the season moves it. */
function seasonal(type: MeterType, month: number): number {
  const angle = ((month - 1) / 12) * 2 * Math.PI;
  if (type === 'W') return 1 + 0.35 * Math.cos(angle - (6.5 / 12) * 2 * Math.PI);
  if (type === 'G') return 1 + 0.75 * Math.cos(angle - (0.5 / 12) * 2 * Math.PI);
  return 1 + 0.25 * Math.cos(2 * (angle - (0.5 / 12) * 2 * Math.PI));
}

const addDays = (iso: string, n: number) => new Date(Date.parse(iso) + n * 86_400_000).toISOString().slice(0, 10);
const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** The whole reference utility at once: for the demo and tests (a million accounts want the chunks). */
export function generateReferenceData(opts: SeedOptions): SeedData {
  const all = emptyData();
  for (const part of referenceDataChunks(opts))
    for (const k of Object.keys(all) as (keyof SeedData)[]) for (const row of part[k]) all[k].push(row);
  return all;
}

function emptyData(): SeedData {
  return {
    routes: [],
    premises: [],
    rates: [],
    accounts: [],
    meters: [],
    registers: [],
    history: [],
    serviceOrders: [],
  };
}

/**
 * The same utility in parts of `chunkAccounts` accounts (the first part also holds the routes and
 * rates), drawn from one random sequence, so the parts together are exactly generateReferenceData.
 * What a part holds is bounded by the chunk, not by the utility: a million accounts and their 24
 * million history rows seed in flat memory.
 */
export function* referenceDataChunks(opts: SeedOptions, chunkAccounts = 10_000): Generator<SeedData> {
  const rnd = prng(opts.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const months = opts.historyMonths ?? 24;

  const routes = Array.from({ length: opts.routes }, (_, i) => ({
    route_code: `R${pad(i + 1, 2)}`,
    description:
      `${pick(CITIES)} ${pick(['north', 'south', 'east', 'west', 'central'])} ` +
      `${['water', 'mixed', 'downtown'][i % 3]}`,
    cycle_no: (i % 20) + 1,
    // Routes are read on successive working days starting tomorrow.
    next_read_date: addDays(opts.today, 1 + Math.floor((i * 20) / Math.max(1, opts.routes))),
  }));

  let data: SeedData = { ...emptyData(), routes, rates: RATES };
  let serviceOrders = 0;
  const perRoute = Math.ceil(opts.accounts / opts.routes);

  for (let i = 0; i < opts.accounts; i++) {
    if (i > 0 && i % chunkAccounts === 0) {
      yield data;
      data = emptyData();
    }
    const route = routes[Math.floor(i / perRoute)]!;
    const premiseId = `P${pad(i + 1, 8)}`;
    const commercial = rnd() < 0.06;
    const city = pick(CITIES);
    data.premises.push({
      premise_id: premiseId,
      address_line: `${between(100, 9899)} ${pick(STREETS)} ${pick(SUFFIX)}`,
      city,
      state: 'IL',
      zip: `62${pad(between(700, 799), 3)}`,
    });

    const roll = rnd();
    const type: MeterType = roll < 0.6 ? 'W' : roll < 0.85 ? 'E' : 'G';
    const accountNo = `${pad(i + 1, 7)}-${pad(between(1, 3), 2)}`;
    const active = rnd() > 0.01;
    const pastDue = active && rnd() < 0.06;
    const balance = pastDue ? between(4500, 60000) / 100 : rnd() < 0.7 ? between(2500, 30000) / 100 : 0;
    const name = commercial ? `${pick(LAST)} ${pick(BUSINESS)}` : `${pick(FIRST)} ${pick(LAST)}`;
    data.accounts.push({
      account_no: accountNo,
      customer_name: name,
      premise_id: premiseId,
      status: active ? 'A' : 'I',
      balance_due: balance,
      due_date: balance > 0 ? addDays(opts.today, pastDue ? -between(15, 75) : between(3, 25)) : null,
      rate_code: `${type}-${commercial && type !== 'G' ? 'COM' : 'RES'}`,
    });

    // Water registers: most in gallons on 6 dials, some in cubic feet on 4 dials (those roll over often).
    const cubicFeet = type === 'W' && rnd() < 0.3;
    const dials = type === 'W' ? (cubicFeet ? 4 : 6) : type === 'E' ? 5 : 4;
    const uom = type === 'W' ? (cubicFeet ? 'CF' : 'GAL') : type === 'E' ? 'KWH' : 'THERM';
    const baseDaily =
      (type === 'W'
        ? cubicFeet
          ? between(18, 40)
          : between(140, 320)
        : type === 'E'
          ? between(18, 45)
          : between(1, 4)) * (commercial ? 4 : 1);
    const meterId = `${type}${pad(i + 1, 7)}`;
    data.meters.push({
      meter_id: meterId,
      serial_no: `${type === 'W' ? 'NP' : type === 'E' ? 'LG' : 'AM'}${pad(between(0, 99_999_999), 8)}`,
      meter_type: type,
      dials,
      multiplier: type === 'E' && commercial ? 40 : 1,
      radio_id: rnd() < 0.7 ? String(between(10_000_000, 99_999_999)) : null,
      account_no: accountNo,
      premise_id: premiseId,
      route_code: route.route_code,
      route_seq: ((i % perRoute) + 1) * 10,
      location_note: pick(LOCATIONS),
      status: active ? 'A' : 'I',
    });

    const registerCount = type === 'E' && rnd() < 0.05 ? 2 : 1;
    for (let r = 1; r <= registerCount; r++) {
      const capacity = 10 ** dials;
      let value = between(0, capacity - 1);
      let readDate = addDays(route.next_read_date, -30 * months - between(0, 3));
      const points: { date: string; value: number; consumption: number; type: string }[] = [];
      for (let m = 0; m < months; m++) {
        const nextDate = addDays(route.next_read_date, -30 * (months - m - 1) - 30 + between(-2, 2));
        const span = Math.max(20, Math.round((Date.parse(nextDate) - Date.parse(readDate)) / 86_400_000));
        const month = Number(nextDate.slice(5, 7));
        const used = Math.max(
          0,
          Math.round(baseDaily * span * seasonal(type, month) * (0.85 + rnd() * 0.3) * (r === 2 ? 0.4 : 1)),
        );
        value = (value + used) % capacity;
        points.push({ date: nextDate, value, consumption: used, type: rnd() < 0.04 ? 'E' : 'A' });
        readDate = nextDate;
      }
      for (const p of points) {
        data.history.push({
          meter_id: meterId,
          register_no: r,
          read_date: p.date,
          read_value: p.value,
          read_type: p.type,
          consumption: p.consumption,
        });
      }
      const last = points[points.length - 1]!;
      data.registers.push({
        meter_id: meterId,
        register_no: r,
        uom,
        last_read_value: last.value,
        last_read_date: last.date,
      });
    }

    if (rnd() < 0.004) {
      data.serviceOrders.push({
        order_no: `SO${pad(++serviceOrders, 6)}`,
        account_no: accountNo,
        meter_id: meterId,
        order_type: pick(['TURN_ON', 'TURN_OFF', 'RE_READ', 'INVESTIGATE', 'EXCHANGE']),
        status: 'OPEN',
        created_at: `${addDays(opts.today, -between(0, 5))}T14:00:00.000Z`,
        due_date: addDays(opts.today, between(1, 7)),
        notes: pick([
          'Customer moving out',
          'High bill complaint',
          'Possible leak',
          'Register hard to read',
          'New service',
        ]),
      });
    }
  }
  yield data;
}
