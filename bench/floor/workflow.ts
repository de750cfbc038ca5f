import * as wf from '@temporalio/workflow';

export const floorAck = wf.defineSignal('ack');

export interface FloorSinks extends wf.Sinks {
  /** Tells the bench that a workflow's first task has run (its timer is set): time for the ack. */
  firstTask: { done(): void };
}

/**
 * The cheapest workflow with a reliable message's shape: started, one signal (the consumer's ack)
 * awaited under a timer (the resend time), completed.
 */
export async function floorWorkflow(): Promise<void> {
  let acked = false;
  wf.setHandler(floorAck, () => {
    acked = true;
  });
  wf.proxySinks<FloorSinks>().firstTask.done();
  await wf.condition(() => acked, '1 minute');
}
