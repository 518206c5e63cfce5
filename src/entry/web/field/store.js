// What the field app keeps on the phone, in IndexedDB: who signed in, the work it downloaded and
// when it last reached the gateway. It survives closing the browser and going offline.
const DB = 'fieldgate-field';
const VERSION = 1;

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
      // Changes made offline, waiting to be sent: nothing is deleted here until the gateway acknowledged it.
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
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
