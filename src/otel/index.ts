/**
 * `governance-client/otel`: OpenTelemetry bridges. Loads @opentelemetry/api,
 * @opentelemetry/resources and @opentelemetry/sdk-metrics (optional peer dependencies);
 * the main entry never does.
 */
export { createMetricProducer, SCOPE_NAME } from './producer.js'
export type { GovernanceMetricProducer, MetricProducerSource } from './producer.js'
