// Test functions for the Lambda sink (tests/integration/lambda_offline.py). Each appends
// what it received to a JSON Lines file under $SLUICE_OUT, one line per invocation, so the
// test reads exactly what Lambda handed the function.
'use strict';
const fs = require('fs');
const path = require('path');

function record(name, event, context) {
  const line = JSON.stringify({ fn: name, t: Date.now(), request: context.awsRequestId, event });
  fs.appendFileSync(path.join(process.env.SLUICE_OUT, name + '.jsonl'), line + '\n');
}

// Acknowledges every batch.
module.exports.collect = async (event, context) => {
  record('collect', event, context);
  return { received: Array.isArray(event.records) ? event.records.length : -1 };
};

// Always throws: Lambda answers 200 with X-Amz-Function-Error: Unhandled.
module.exports.fail = async (event, context) => {
  record('fail', event, context);
  throw new Error('handler failed on purpose');
};

// Answers after 3 s, past the sink's timeout in the test.
module.exports.slow = async (event, context) => {
  record('slow', event, context);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return { late: true };
};
