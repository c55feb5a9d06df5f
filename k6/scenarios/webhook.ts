import exec from 'k6/execution';
import { postUpdate } from '../lib/requests.ts';
import { chatOf, kindOf, updateBody } from '../lib/updates.ts';

/** One update per iteration: mostly text, some voice and callback queries, over `chats` chats. */
export function webhookScenario(chats: number): () => void {
  return () => {
    const i = exec.scenario.iterationInTest;
    postUpdate(updateBody(kindOf(i), i, chatOf(i, chats)));
  };
}
