/**
 * The bill explainer: what a CSR says to "why is my bill so high?". For one register, this
 * period's consumption against the last period and the same period last year, per day (periods
 * differ in length), whether it was read or estimated, and the rate's estimated charge. Pure:
 * billing's history and the read here since come in, sentences and figures go out.
 */

import { consumption } from './consumption.js';

export interface BilledPeriod {
  /** YYYY-MM-DD of the read that ended the period. */
  readDate: string;
  /** Units on the dials in the period (rollover allowed for). */
  consumption: number;
  estimated: boolean;
}

export interface ExplainerInput {
  unit: string;
  dials: number;
  multiplier: number;
  /** Billing's periods, oldest first. */
  history: readonly BilledPeriod[];
  /** The last billed read (the start of the period being read now). */
  lastBilled: { value: number; date: string };
  /** The read made here since the last billed one, if any: the period a bill is coming for. */
  current: { value: number; date: string; estimated: boolean } | null;
  rate: { code: string; fixedCharge: number; unitCharge: number } | null;
  /** AMI use since the last billed read, by day, when the meter has intervals: the bill that is coming. */
  soFar?: { units: number; days: number; to: string } | null;
}

export interface PeriodFigures {
  from: string;
  to: string;
  days: number;
  units: number;
  perDay: number;
  estimated: boolean;
}

export interface BillExplanation {
  unit: string;
  period: PeriodFigures;
  previous: PeriodFigures | null;
  lastYear: PeriodFigures | null;
  /** Per-day change against the previous period and last year (0.31 is 31% more). */
  changeFromPrevious: number | null;
  changeFromLastYear: number | null;
  /** The rate's charge for the period's billed consumption (units × multiplier). */
  estimatedCharge: number | null;
  /** AMI use since the last billed read, per day, and its change against the last billed period. */
  soFar: { units: number; days: number; perDay: number; to: string; changeFromPrevious: number | null } | null;
  /** The explanation in order, one sentence each. */
  sentences: string[];
}

const DAY_MS = 86_400_000;
const daysBetween = (from: string, to: string) => Math.max(1, Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS));
const grouped = (n: number) => Math.round(n).toLocaleString('en-US');
const perDayText = (n: number) => (n >= 10 ? grouped(n) : n.toFixed(1));

function figures(from: string, to: string, units: number, estimated: boolean): PeriodFigures {
  const days = daysBetween(from, to);
  return { from, to, days, units, perDay: units / days, estimated };
}

/** The periods billing holds, each with its start (the read before it). */
function periods(history: readonly BilledPeriod[]): PeriodFigures[] {
  const out: PeriodFigures[] = [];
  for (let i = 1; i < history.length; i++) {
    const h = history[i]!;
    out.push(figures(history[i - 1]!.readDate, h.readDate, h.consumption, h.estimated));
  }
  return out;
}

function change(now: PeriodFigures, before: PeriodFigures | null): number | null {
  if (!before || before.perDay <= 0) return null;
  return Math.round((now.perDay / before.perDay - 1) * 100) / 100;
}

/** "; this period is 31% more a day" (or less, or about the same); nothing without a comparison. */
function changeText(c: number | null, subject: string): string {
  if (c === null) return '';
  if (Math.abs(c) < 0.05) return `; ${subject} about the same a day`;
  return `; ${subject} ${Math.round(Math.abs(c) * 100)}% ${c > 0 ? 'more' : 'less'} a day`;
}

export function explainBill(input: ExplainerInput): BillExplanation | null {
  const billed = periods(input.history);
  let period: PeriodFigures | null;
  let before: PeriodFigures[];
  if (input.current && input.current.date > input.lastBilled.date) {
    const used = consumption(input.lastBilled.value, input.current.value, input.dials).units;
    period = figures(input.lastBilled.date, input.current.date, used, input.current.estimated);
    before = billed;
  } else {
    period = billed[billed.length - 1] ?? null;
    before = billed.slice(0, -1);
  }
  if (!period) return null;
  const previous = before[before.length - 1] ?? null;
  const yearAgo = Date.parse(period.to) - 365 * DAY_MS;
  const lastYear =
    before
      .filter((p) => Math.abs(Date.parse(p.to) - yearAgo) <= 20 * DAY_MS)
      .sort((a, b) => Math.abs(Date.parse(a.to) - yearAgo) - Math.abs(Date.parse(b.to) - yearAgo))[0] ?? null;
  const unit = input.unit.toLowerCase();
  const billedUnits = Math.max(0, period.units) * input.multiplier;
  const charge = input.rate
    ? Math.round((input.rate.fixedCharge + billedUnits * input.rate.unitCharge) * 100) / 100
    : null;
  const describe = (name: string, p: PeriodFigures) =>
    `${name}: ${grouped(p.units)} ${unit} over ${p.days} days (${perDayText(p.perDay)} a day), ` +
    `${p.estimated ? 'estimated' : 'actual read'}, ${p.from} to ${p.to}`;
  const changeFromPrevious = change(period, previous);
  const changeFromLastYear = change(period, lastYear);
  const sentences = [describe('This period', period)];
  if (previous)
    sentences.push(`${describe('Last period', previous)}${changeText(changeFromPrevious, 'this period uses')}`);
  if (lastYear)
    sentences.push(
      `${describe('Same period last year', lastYear)}${changeText(changeFromLastYear, 'this period uses')}`,
    );
  else sentences.push('No period a year ago to compare with.');
  let soFar: BillExplanation['soFar'] = null;
  if (input.soFar && input.soFar.days > 0 && period.to === input.lastBilled.date) {
    const perDay = input.soFar.units / input.soFar.days;
    const sinceChange = change({ ...period, perDay }, period);
    soFar = { ...input.soFar, perDay, changeFromPrevious: sinceChange };
    sentences.push(
      `Since that read (AMI, ${input.soFar.days} days to ${input.soFar.to}): ${grouped(input.soFar.units)} ${unit} ` +
        `(${perDayText(perDay)} a day)${changeText(sinceChange, 'the next bill is running')}`,
    );
  }
  if (input.multiplier !== 1)
    sentences.push(`The meter's multiplier is ${input.multiplier}: ${grouped(billedUnits)} ${unit} billed.`);
  if (charge !== null && input.rate)
    sentences.push(
      `Estimated charge $${charge.toFixed(2)} (${input.rate.code}: $${input.rate.fixedCharge.toFixed(2)} a period plus ` +
        `${grouped(billedUnits)} ${unit} at $${input.rate.unitCharge})`,
    );
  return {
    unit: input.unit,
    period,
    previous,
    lastYear,
    changeFromPrevious,
    changeFromLastYear,
    estimatedCharge: charge,
    soFar,
    sentences,
  };
}
