/** The option of the commands that use the job queue (sweep, paper, worker) that names the queue. */
import { Options } from "@effect/cli"
import { DEFAULT_QUEUE_NAME } from "../pipeline/choices.js"

export const queueNameOption = Options.text("queue-name").pipe(
  Options.withDescription(`name of the queue on that Redis server (default ${DEFAULT_QUEUE_NAME})`),
  Options.withDefault(DEFAULT_QUEUE_NAME)
)
