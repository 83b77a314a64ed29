/** The name of an error (AWS SDK errors carry the service's error code there). */
export function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? 'Error';
}

/** One line for a user, e.g. `AccessDeniedException: User ... is not authorized`. */
export function describeAwsError(error: unknown): string {
  const message = ((error as Error)?.message ?? String(error)).split('\n')[0];
  return `${errorName(error)}: ${message}`;
}
