import { type AlertContext, renderTestAlert } from './domain/render-alert';
import type { AlertChannel, RunLogger } from './ports';

export interface TestAlertResult {
  readonly channel: string;
  readonly delivered: boolean;
  readonly error?: string;
}

/**
 * Send one clearly marked TEST notification through every configured channel and say how each went: the
 * step after `cdk deploy` that proves alerts reach someone before a real incident does. State is untouched.
 */
export async function sendTestAlert(
  channels: readonly AlertChannel[],
  context: AlertContext,
  now: number,
  logger: Pick<RunLogger, 'info' | 'error'>,
): Promise<TestAlertResult[]> {
  const alert = renderTestAlert(context, new Date(now).toISOString());
  return Promise.all(
    channels.map(async (channel) => {
      try {
        await channel.send(alert);
        logger.info('test alert delivered', { channel: channel.name });
        return { channel: channel.name, delivered: true };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        logger.error('test alert not delivered', { channel: channel.name, reason });
        return { channel: channel.name, delivered: false, error: reason };
      }
    }),
  );
}
