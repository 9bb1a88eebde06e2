/**
 * Where the client keeps what must survive an app restart: the sync cursor and the outbox. The
 * interface is AsyncStorage's (React Native), so `AsyncStorage` itself can be passed; in a browser
 * back it with IndexedDB or localStorage (see the README).
 */
export interface KeyValueStorage {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
}

/** Storage in memory: the default (nothing survives a restart). */
export function memoryStorage(initial: Record<string, string> = {}): KeyValueStorage & { readonly data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: async (key) => data.get(key) ?? null,
    setItem: async (key, value) => {
      data.set(key, value);
    },
    removeItem: async (key) => {
      data.delete(key);
    },
  };
}
