// Conformance-test function: ES module (.mjs) with an exported async handler.
import { setTimeout as sleep } from "node:timers/promises";

let counter = 0;

export const handler = async (event, context) => {
  counter += 1;
  event = event || {};
  if (event.sleep_ms) await sleep(event.sleep_ms);
  if (event.fail) throw new Error(event.fail);
  if (event.counter) return { counter, style: "esm" };
  if (event.context) {
    return {
      style: "esm",
      context: {
        awsRequestId: context.awsRequestId,
        functionName: context.functionName,
        remainingTimeInMillis: context.getRemainingTimeInMillis(),
      },
    };
  }
  return event;
};
