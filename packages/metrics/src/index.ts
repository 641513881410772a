export {
  type CounterDefinition,
  type HistogramDefinition,
  type MetricDefinition,
  type MetricId,
  metricDefinitions,
  metricKey,
  metricsKeyPrefix,
  type NotificationChannel,
  type NotificationOutcome,
  RUN_DURATION_BUCKETS,
} from './definitions.js';
export {
  type CounterSeries,
  counterFromHash,
  type HistogramBucket,
  histogramFromHash,
  type RecordedCounter,
  type RecordedHistogram,
  type RecordedMetrics,
  readRecordedMetrics,
} from './reader.js';
export {
  bucketFor,
  counterField,
  createMetricsRecorder,
  type MetricsRecorder,
  type MetricsRecorderOptions,
  runDurationSeconds,
} from './recorder.js';
