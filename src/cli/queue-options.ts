/** The options of the commands that use the job queue (sweep, paper, worker), apart from the rest so that other commands need not load the queue. */
import { Options } from "@effect/cli"
import { DEFAULT_QUEUE_NAME } from "../pipeline/jobs/queue.js"

export const queueNameOption = Options.text("queue-name").pipe(Options.withDescription(`name of the queue on that Redis server (default ${DEFAULT_QUEUE_NAME})`), Options.withDefault(DEFAULT_QUEUE_NAME))
