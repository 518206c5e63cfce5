import { describe, expect, it } from 'vitest';
import { checkMove, WORK_ORDER_TYPES, type WorkOrderState } from '../../src/core/work-orders.js';
import { loadConfig } from '../../src/infra/config/load.js';

const rules = loadConfig({ env: {} }).workOrders.types;
const order = (state: WorkOrderState, technician: string | null = 'tom') => ({
  orderNo: 'WO1',
  type: 'TurnOff' as const,
  state,
  technician,
});
const tom = { role: 'tech' as const, name: 'tom' };
const csr = { role: 'csr' as const, name: 'maria' };
const done = { outcome: 'COMPLETED', completedAt: '2026-11-23T15:00:00Z', finalRead: 5 };
const errorOf = (f: () => void) => {
  try {
    f();
  } catch (e) {
    return e as { code: string; status: number; detail: { field?: string } };
  }
  throw new Error('expected a refusal');
};

describe('work-order state machine', () => {
  it('lets a technician walk an order from dispatched to completed, en route optional', () => {
    expect(() => checkMove(order('dispatched'), 'accepted', tom, {}, rules)).not.toThrow();
    expect(() => checkMove(order('accepted'), 'en_route', tom, {}, rules)).not.toThrow();
    expect(() => checkMove(order('accepted'), 'on_site', tom, {}, rules)).not.toThrow();
    expect(() => checkMove(order('on_site'), 'completed', tom, { completion: done }, rules)).not.toThrow();
    expect(() =>
      checkMove(order('on_site'), 'failed', tom, { completion: { ...done, reason: 'no access' } }, rules),
    ).not.toThrow();
  });

  it('refuses jumps, moves on final orders, and another technician’s order, naming the field', () => {
    expect(errorOf(() => checkMove(order('dispatched'), 'completed', tom, { completion: done }, rules))).toMatchObject({
      code: 'BAD_STATE',
      status: 409,
      detail: { field: 'state' },
    });
    for (const final of ['completed', 'failed', 'cancelled'] as const) {
      expect(errorOf(() => checkMove(order(final), 'accepted', tom, {}, rules)).code).toBe('BAD_STATE');
      expect(errorOf(() => checkMove(order(final), 'cancelled', csr, { reason: 'x' }, rules)).code).toBe('BAD_STATE');
    }
    expect(errorOf(() => checkMove(order('dispatched', 'ann'), 'accepted', tom, {}, rules))).toMatchObject({
      code: 'NOT_YOURS',
      status: 403,
      detail: { field: 'technician' },
    });
    expect(errorOf(() => checkMove(order('accepted'), 'cancelled', tom, { reason: 'x' }, rules)).code).toBe(
      'BAD_STATE',
    );
  });

  it('lets the office dispatch, re-dispatch and cancel with a reason', () => {
    expect(() => checkMove(order('created', null), 'dispatched', csr, { technician: 'tom' }, rules)).not.toThrow();
    expect(() => checkMove(order('accepted'), 'dispatched', csr, { technician: 'ann' }, rules)).not.toThrow();
    expect(errorOf(() => checkMove(order('created', null), 'dispatched', csr, {}, rules)).detail.field).toBe(
      'technician',
    );
    expect(errorOf(() => checkMove(order('on_site'), 'cancelled', csr, { reason: ' ' }, rules)).detail.field).toBe(
      'reason',
    );
    expect(errorOf(() => checkMove(order('created'), 'accepted', csr, {}, rules)).code).toBe('BAD_STATE');
  });

  it('requires each type’s completion fields from config', () => {
    expect(Object.keys(rules).sort()).toEqual([...WORK_ORDER_TYPES].sort());
    expect(
      errorOf(() => checkMove(order('on_site'), 'completed', tom, { completion: { ...done, finalRead: null } }, rules))
        .detail.field,
    ).toBe('finalRead');
    const exchange = { ...order('on_site'), type: 'ExchangeMeter' as const };
    expect(errorOf(() => checkMove(exchange, 'completed', tom, { completion: done }, rules)).detail.field).toBe(
      'newMeterSerial',
    );
    const cut = { ...order('on_site'), type: 'CutForNonPayment' as const };
    expect(
      errorOf(() => checkMove(cut, 'completed', tom, { completion: { ...done, seals: [] } }, rules)).detail.field,
    ).toBe('seals');
    expect(errorOf(() => checkMove(order('on_site'), 'failed', tom, { completion: done }, rules)).detail.field).toBe(
      'reason',
    );
  });
});

describe('past due to cut-off dates', async () => {
  const { shutOffDate, stillCuttable, isBusinessDay, noticeStep } = await import('../../src/core/past-due.js');
  const holidays = new Set(['2026-11-26', '2026-11-30']);

  it('moves a shut-off date past a weekend and a holiday', () => {
    expect(shutOffDate('2026-11-20', 8, holidays)).toBe('2026-12-01'); // Sat 28 → Sun 29 → holiday Mon 30 → Tue 1
    expect(shutOffDate('2026-11-20', 6, holidays)).toBe('2026-11-27'); // Thanksgiving → Friday
    expect(shutOffDate('2026-11-20', 5, holidays)).toBe('2026-11-25');
    expect(isBusinessDay('2026-11-28', holidays)).toBe(false);
  });

  it('does not cut a paid account or one with an arrangement running', () => {
    expect(stillCuttable({ balanceDue: 120, arrangementUntil: null }, '2026-12-01', 25)).toBe('cut');
    expect(stillCuttable({ balanceDue: 10, arrangementUntil: null }, '2026-12-01', 25)).toBe('paid');
    expect(stillCuttable({ balanceDue: 120, arrangementUntil: '2026-12-15' }, '2026-12-01', 25)).toBe('arranged');
    expect(stillCuttable({ balanceDue: 120, arrangementUntil: '2026-11-30' }, '2026-12-01', 25)).toBe('cut');
  });

  it("moves each open notice on by its status, the account's verdict and its cut order", () => {
    const noticed = { status: 'noticed', shutOffDate: '2026-12-01' };
    const ordered = { status: 'cut_ordered', shutOffDate: '2026-12-01' };
    // Before the shut-off date nothing happens; on it the account is cut.
    expect(noticeStep(noticed, 'cut', null, '2026-11-30')).toEqual({ kind: 'none' });
    expect(noticeStep(noticed, 'cut', null, '2026-12-01')).toEqual({ kind: 'cut' });
    // Paid before the date: settled, nothing to call off.
    expect(noticeStep(noticed, 'paid', null, '2026-11-25')).toEqual({
      kind: 'settle',
      verdict: 'paid',
      cancelCut: false,
    });
    // Paid after the cut was ordered: the open cut is called off in the field; a failed one is not.
    expect(noticeStep(ordered, 'paid', 'dispatched', '2026-12-02')).toEqual({
      kind: 'settle',
      verdict: 'paid',
      cancelCut: true,
    });
    expect(noticeStep(ordered, 'arranged', 'failed', '2026-12-02')).toEqual({
      kind: 'settle',
      verdict: 'arranged',
      cancelCut: false,
    });
    // The technician cut it: the notice says so; paid after that, a reconnect.
    expect(noticeStep(ordered, 'cut', 'completed', '2026-12-02')).toEqual({ kind: 'mark-cut' });
    expect(noticeStep(ordered, 'paid', 'completed', '2026-12-02')).toEqual({ kind: 'reconnect', verdict: 'paid' });
    expect(noticeStep({ status: 'cut', shutOffDate: '2026-12-01' }, 'cut', 'completed', '2026-12-09')).toEqual({
      kind: 'none',
    });
  });
});
