// What the field app keeps on the phone, in IndexedDB: who signed in, the work it downloaded and
// when it last reached the gateway. It survives closing the browser and going offline.
const DB = 'fieldgate-field';
const VERSION = 2;

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
      // Changes made offline, waiting to be sent: nothing is deleted here until the gateway acknowledged it.
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
      // A reader's readings (and their photos), one per route line, kept until the gateway stored them.
      if (!db.objectStoreNames.contains('readings'))
        db.createObjectStore('readings', { keyPath: 'key' }).createIndex('route', 'route');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

const opened = open();

/**
 * @param {'readonly' | 'readwrite'} mode
 * @param {string} store
 * @param {(s: IDBObjectStore) => IDBRequest} op
 */
async function run(mode, store, op) {
  const db = await opened;
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = op(tx.objectStore(store));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

/** @param {string} key */
export const get = (key) => run('readonly', 'kv', (s) => s.get(key));
/** @param {string} key @param {unknown} value */
export const put = (key, value) => run('readwrite', 'kv', (s) => s.put(value, key));
/** @param {string} key */
export const remove = (key) => run('readwrite', 'kv', (s) => s.delete(key));
/** @returns {Promise<number>} */
export const waiting = () => run('readonly', 'outbox', (s) => s.count());

/** Changes waiting to be sent, oldest first. @returns {Promise<any[]>} */
export const pending = async () =>
  /** @type {any[]} */ (await run('readonly', 'outbox', (s) => s.getAll())).sort((a, b) => a.seq - b.seq);
/** @param {any} change */
export const keep = (change) => run('readwrite', 'outbox', (s) => s.put(change));
/** Only once the gateway has it (or the person chose to drop it). @param {string} id */
export const drop = (id) => run('readwrite', 'outbox', (s) => s.delete(id));

/** Every reading kept for a route. @param {string} route @returns {Promise<any[]>} */
export const readingsOf = (route) => run('readonly', 'readings', (s) => s.index('route').getAll(route));
/** Every reading on the phone. @returns {Promise<any[]>} */
export const allReadings = () => run('readonly', 'readings', (s) => s.getAll());

/** Keeps readings (new, changed, or marked sent) in one transaction. @param {any[]} list */
export async function keepReadings(list) {
  const db = await opened;
  return new Promise((resolve, reject) => {
    const tx = db.transaction('readings', 'readwrite');
    for (const r of list) tx.objectStore('readings').put(r);
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error);
  });
}

/** Forgets a finished route's readings: only once the gateway stored every one. @param {string} route */
export async function forgetReadings(route) {
  const db = await opened;
  return new Promise((resolve, reject) => {
    const tx = db.transaction('readings', 'readwrite');
    const store = tx.objectStore('readings');
    const keys = store.index('route').getAllKeys(route);
    keys.onsuccess = () => {
      for (const k of keys.result) store.delete(k);
    };
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error);
  });
}
