// Handler run by the official Node.js runtime interface client (aws-lambda-ric) from a
// provided.al2023 bootstrap. Event keys: {"fail": "msg"} throws a RicError; {"print": "text"}
// logs it through the client's patched console; otherwise the event is echoed back with
// what the client put in the context.
import { randomUUID } from "node:crypto";

const bootId = randomUUID(); // one per runtime process: equal across warm invokes
let counter = 0;

class RicError extends Error {
  constructor(message) {
    super(message);
    this.name = "RicError";
  }
}

export const handler = async (event, context) => {
  counter += 1;
  if (event && typeof event === "object" && "fail" in event) throw new RicError(event.fail);
  if (event && typeof event === "object" && event.print) console.log(event.print);
  return {
    echo: event,
    runtime: "aws-lambda-ric",
    requestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: String(context.memoryLimitInMB),
    remainingTimeInMillis: context.getRemainingTimeInMillis(),
    handlerEnv: process.env._HANDLER,
    taskRoot: process.env.LAMBDA_TASK_ROOT,
    cwd: process.cwd(),
    ricScript: process.argv[1], // the client node runs: the one in the deployment package
    bootId,
    pid: process.pid,
    counter,
  };
};
