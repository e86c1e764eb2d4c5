import { Dispatcher } from 'undici';
import { InFlightCalls } from '../src/invokers/call-context';
import { HttpExchange } from '../src/invokers/http-exchange';

const LIMITS = { timeoutMs: 50, successBodyBytes: 1024, errorBodyBytes: 1024 };
const OPTIONS: Dispatcher.DispatchOptions = { path: '/run', method: 'POST' };

/** A dispatcher that raises from dispatch(), where undici would report the error to the handler. */
class RaisingDispatcher extends Dispatcher {
  override dispatch(): boolean {
    throw new Error('dispatch raised');
  }
}

describe('HttpExchange', () => {
  test('rejects when dispatch raises', async () => {
    const inFlight = new InFlightCalls();
    const exchange = new HttpExchange();

    const response = exchange.start(new RaisingDispatcher(), OPTIONS, LIMITS, inFlight);

    await expect(response).rejects.toThrow('dispatch raised');
    // An exchange still registered would be abandoned here and record the cause.
    inFlight.abandonAll();
    expect(exchange.cause).toBeUndefined();
  });

  test('raises on a second start', async () => {
    const exchange = new HttpExchange();
    const response = exchange.start(new RaisingDispatcher(), OPTIONS, LIMITS, new InFlightCalls());
    await expect(response).rejects.toThrow('dispatch raised');

    expect(() =>
      exchange.start(new RaisingDispatcher(), OPTIONS, LIMITS, new InFlightCalls()),
    ).toThrow('an HttpExchange can be started only once');
  });
});
