/**
 * Fakes Date alone (jest.setSystemTime then moves it): HTTP and timers stay real, so msal, jose and the local
 * identity endpoint all read the same clock while requests still run. Undo with jest.useRealTimers().
 */
export function fakeDateOnly(): void {
  jest.useFakeTimers({
    doNotFake: [
      'nextTick',
      'setImmediate',
      'clearImmediate',
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'queueMicrotask',
      'hrtime',
      'performance',
    ],
  });
}
