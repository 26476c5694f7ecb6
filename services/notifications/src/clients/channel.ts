/**
 * The delivery channel (simulated: nothing leaves the process). A customer
 * id containing the configured fail marker makes sending fail every time,
 * so drills and tests can drive an event to the dead-letter stream.
 */
export class SimulatedChannel {
  readonly #failMarker: string | undefined;
  constructor(failMarker: string | undefined) {
    this.#failMarker = failMarker?.toLowerCase();
  }

  async send(customerId: string, _body: string): Promise<void> {
    if (this.#failMarker && customerId.toLowerCase().includes(this.#failMarker)) {
      throw new Error(`channel refused customer ${customerId} (simulated)`);
    }
  }
}
