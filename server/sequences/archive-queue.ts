/** Stops the prospects of an archived sequence beyond those stopped in the archiving request, in batches. */
export const ARCHIVE_STOP_QUEUE = 'sequences.archive-stop';
export interface ArchiveStopJob {
  tenantId: string;
  sequenceId: string;
}
