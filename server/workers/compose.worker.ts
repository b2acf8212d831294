import { parentPort } from 'node:worker_threads';
import { composeBody } from '../outbound/compose.ts';
import { serveTasks } from './thread-pool.ts';

/** A compose thread: renders Markdown and sanitizes outgoing HTML away from the event loop (see composeOffThread). */
serveTasks(parentPort!, (args: Parameters<typeof composeBody>) => composeBody(...args));
