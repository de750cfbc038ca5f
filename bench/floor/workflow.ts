import * as wf from '@temporalio/workflow';

export const floorAck = wf.defineSignal('ack');

/**
 * The cheapest workflow with a reliable message's shape: started, one signal (the consumer's ack)
 * awaited under a timer (the resend time), completed.
 */
export async function floorWorkflow(): Promise<void> {
  let acked = false;
  wf.setHandler(floorAck, () => {
    acked = true;
  });
  await wf.condition(() => acked, '1 minute');
}
