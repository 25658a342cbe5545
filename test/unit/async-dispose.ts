/**
 * jest runs tests in a vm realm, which lacks Node 20's Symbol.asyncDispose (the registered symbol
 * Symbol.for('nodejs.asyncDispose') in the main realm); `await using` needs it. Import before the rest.
 */
const symbols = Symbol as { asyncDispose?: symbol };
symbols.asyncDispose ??= Symbol.for('nodejs.asyncDispose');
