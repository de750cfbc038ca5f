import { readFileSync, writeFileSync } from 'node:fs';
import proto from '@temporalio/proto';

export type History = proto.temporal.api.history.v1.IHistory;
const HistoryMessage = proto.temporal.api.history.v1.History;

/**
 * Workflow histories as JSON files (test/fixtures/histories/, scripts/record-histories.ts): the
 * protobuf message as plain JSON, 64-bit numbers and enums as strings, bytes as base64.
 *
 * Not the SDK's historyToJSON/historyFromJSON: with npm's layout they load a second copy of
 * protobufjs and fail with "type must be a Type".
 */
export function writeHistoryFile(path: string, history: History): void {
  const json = HistoryMessage.toObject(HistoryMessage.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  writeFileSync(path, `${JSON.stringify(json, null, 1)}\n`);
}

export function readHistoryFile(path: string): History {
  return HistoryMessage.fromObject(JSON.parse(readFileSync(path, 'utf8')));
}
