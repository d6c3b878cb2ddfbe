/** The steps as functions, for the Pulumi program's tests and anything else that runs them in-process. */
export { applyChangefeed, ChangefeedError, deleteChangefeed, type ChangefeedOutcome } from "./changefeed.ts";
export { ensureTopics, type TopicSpec } from "./topics.ts";
export { PdRefusedError, reconcilePd, type PdReport, type PdSpec } from "./pd-reconcile.ts";
export { sameSinkUri } from "./sink-uri.ts";
