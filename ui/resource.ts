/** Data from the API with the states a page shows: loading, the data, an error, and re-reading while it runs. */
import { useEffect, useState } from 'preact/hooks';

export interface Resource<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Reads `load()` when `deps` change, and again every `refreshMs` while `refreshWhile(data)` holds. */
export function useResource<T>(
  load: () => Promise<T>,
  deps: unknown[],
  options: { refreshWhile?: (data: T) => boolean; refreshMs?: number } = {},
): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const data = await load();
        if (stopped) return;
        setState({ data, loading: false });
        if (options.refreshWhile?.(data)) timer = setTimeout(() => void read(), options.refreshMs ?? 1000);
      } catch (error) {
        if (stopped) return;
        setState((s) => ({ ...s, error: error instanceof Error ? error : new Error(String(error)), loading: false }));
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, generation]);
  return { ...state, reload: () => setGeneration((g) => g + 1) };
}
