// Conformance-test function: CommonJS module, callback-style (non-async) handler.
let counter = 0;

exports.handler = (event, context, callback) => {
  counter += 1;
  event = event || {};
  const finish = () => {
    if (event.fail) return callback(new Error(event.fail));
    if (event.counter) return callback(null, { counter, style: "callback" });
    if (event.context) {
      return callback(null, {
        style: "callback",
        context: {
          awsRequestId: context.awsRequestId,
          functionName: context.functionName,
          remainingTimeInMillis: context.getRemainingTimeInMillis(),
        },
      });
    }
    return callback(null, event);
  };
  // Answer from a later tick, as callback handlers usually do.
  setTimeout(finish, event.sleep_ms || 1);
};
