/** The job every ingest path adds, through the API and directly, so both store the same data. */
export const INGEST_JOB = {
  name: 'bench',
  data: { orderId: 'order-000123', items: 3, note: 'bullpen ingest benchmark' },
} as const;
