// Conformance-test function: CommonJS module, async handler.
// Event keys: {"sleep_ms": N}, {"fail": "msg"}, {"counter": true}, {"env": true},
// {"context": true}, {"print": "text"}; otherwise the event is echoed back.
let counter = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.handler = async (event, context) => {
  counter += 1;
  event = event || {};
  if (event.print) console.log(event.print);
  if (event.sleep_ms) await sleep(event.sleep_ms);
  if (event.fail) throw new Error(event.fail);
  if (event.counter) return { counter, style: "async" };
  if (event.env) return { env: process.env, style: "async" };
  if (event.context) {
    return {
      style: "async",
      context: {
        awsRequestId: context.awsRequestId,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        memoryLimitInMB: String(context.memoryLimitInMB),
        invokedFunctionArn: context.invokedFunctionArn,
        logGroupName: context.logGroupName,
        remainingTimeInMillis: context.getRemainingTimeInMillis(),
      },
    };
  }
  return event;
};
