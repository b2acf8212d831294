/** An instant `ms` from now, as the API takes it. */
export const isoFromNow = (ms: number): string => new Date(Date.now() + ms).toISOString();
