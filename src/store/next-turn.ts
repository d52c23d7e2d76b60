// The scheduling rule the store's batchers share (ReadBatcher, WriteBatcher and the
// rate-limit counts): whatever is asked for during one turn of the event loop goes out
// together, right after it. setImmediate runs after the poll phase, so every request whose
// bytes arrived in this turn has been parsed and has asked by then.

export class NextTurn {
  #scheduled = false;

  constructor(private readonly flush: () => void) {}

  /** Makes sure `flush` runs once after the current turn, however often this is called in it. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.flush();
    });
  }
}
