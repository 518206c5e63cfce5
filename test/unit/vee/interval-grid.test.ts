import { describe, expect, it } from 'vitest';
import { compareToGrid, localDayGrid } from '../../../src/core/vee/interval-grid.js';

describe('local day interval grid', () => {
  const zone = 'America/Chicago';

  it.each([
    ['2026-03-08', 92, '2026-03-08T06:00:00.000Z', '2026-03-09T04:45:00.000Z'], // spring forward: 23 h
    ['2026-11-23', 96, '2026-11-23T06:00:00.000Z', '2026-11-24T05:45:00.000Z'],
    ['2026-11-01', 100, '2026-11-01T05:00:00.000Z', '2026-11-02T05:45:00.000Z'], // fall back: 25 h
  ])('%s has %i fifteen-minute intervals in Chicago, first and last in UTC', (date, count, first, last) => {
    const grid = localDayGrid(date, zone, 15);
    expect(grid.starts).toHaveLength(count);
    expect(grid.starts[0]).toBe(first);
    expect(grid.starts.at(-1)).toBe(last);
    expect(new Set(grid.starts).size).toBe(count);
  });

  it('has hourly grids of 23, 24 and 25 intervals, and refuses a length that does not divide a day', () => {
    expect(localDayGrid('2026-03-08', zone, 60).starts).toHaveLength(23);
    expect(localDayGrid('2026-11-01', zone, 60).starts).toHaveLength(25);
    expect(() => localDayGrid('2026-11-01', zone, 7)).toThrow(/does not divide a day/);
    expect(() => localDayGrid('2026-02-30', zone, 15)).toThrow(/not a date/);
  });

  it('finds a gap, a duplicate and an interval off the grid on the fall-back day', () => {
    const grid = localDayGrid('2026-11-01', zone, 15);
    const received = [...grid.starts.slice(0, 40), ...grid.starts.slice(44), grid.starts[50]!, '2026-11-01T12:07:00Z'];
    const result = compareToGrid(grid, received);
    expect(result.missing).toEqual(grid.starts.slice(40, 44));
    expect(result.duplicates).toEqual([grid.starts[50]]);
    expect(result.offGrid).toEqual(['2026-11-01T12:07:00.000Z']);
  });
});
