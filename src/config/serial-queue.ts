/**
 * Runs tasks one at a time, in order. A task that finishes synchronously lets the next run
 * in the same tick (so a push with a synchronous schema reaches callbacks without an extra
 * hop); one that returns a promise holds the queue until it settles. Tasks pushed from
 * inside a task (a callback that subscribes) run after it, never nested.
 */
export type Task = () => void | PromiseLike<void>

export class SerialQueue {
  #tasks: Task[] = []
  #running = false
  readonly #onError: (error: unknown) => void

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError
  }

  push(task: Task): void {
    this.#tasks.push(task)
    if (!this.#running) this.#drain()
  }

  clear(): void {
    this.#tasks = []
  }

  #drain(): void {
    this.#running = true
    let task: Task | undefined
    while ((task = this.#tasks.shift()) !== undefined) {
      let result: void | PromiseLike<void>
      try {
        result = task()
      } catch (error) {
        this.#onError(error)
        continue
      }
      if (result && typeof result.then === 'function') {
        result.then(
          () => this.#drain(),
          (error: unknown) => {
            this.#onError(error)
            this.#drain()
          },
        )
        return
      }
    }
    this.#running = false
  }
}
