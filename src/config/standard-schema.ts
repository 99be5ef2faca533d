/**
 * The Standard Schema v1 interface (https://standardschema.dev), written out here because
 * the spec is types-only: zod, valibot, arktype and others implement it, so the client
 * accepts their schemas without depending on any of them.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>
}

export declare namespace StandardSchemaV1 {
  export interface Props<Input = unknown, Output = Input> {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>
    readonly types?: Types<Input, Output> | undefined
  }

  export type Result<Output> = SuccessResult<Output> | FailureResult

  export interface SuccessResult<Output> {
    readonly value: Output
    readonly issues?: undefined
  }

  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>
  }

  export interface Issue {
    readonly message: string
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined
  }

  export interface PathSegment {
    readonly key: PropertyKey
  }

  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input
    readonly output: Output
  }

  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']> extends { readonly input: infer I } ? I : unknown
  /**
   * The validated value's type: from `types` when the library declares it (zod, valibot,
   * arktype), else from what `validate` resolves to, so that a schema without `types`
   * gives its value type rather than `never`.
   */
  export type InferOutput<Schema extends StandardSchemaV1> =
    NonNullable<Schema['~standard']['types']> extends { readonly output: infer O } ? O : ValidatedValue<ReturnType<Schema['~standard']['validate']>>

  type ValidatedValue<R> = Extract<Awaited<R>, { readonly value: unknown }> extends { readonly value: infer O } ? O : unknown
}
