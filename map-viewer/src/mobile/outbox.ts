/**
 * Reports waiting for the network, photos included, in IndexedDB: they survive a closed tab or a dead battery.
 * Each carries the client-generated id the server keys on, so sending one twice (a lost answer, two tabs) still
 * makes one case.
 */
export interface PendingReport {
  clientId: string;
  fields: Record<string, string>;
  photos: Array<{ name: string; blob: Blob }>;
  createdAt: number;
  error?: string;
}

const DB = 'citybase-outbox';
const STORE = 'reports';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'clientId' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, work: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise<T>((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = work(t.objectStore(STORE));
    t.oncomplete = () => {
      db.close();
      resolve(req.result);
    };
    t.onerror = () => reject(t.error);
  });
}

export const put = (r: PendingReport) => tx('readwrite', (s) => s.put(r));
export const remove = (clientId: string) => tx('readwrite', (s) => s.delete(clientId));
export const all = () => tx<PendingReport[]>('readonly', (s) => s.getAll() as IDBRequest<PendingReport[]>);
