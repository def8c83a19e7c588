/** The emulator's fast UploadLayerPart parser gives exactly what JSON.parse gives, or steps aside. */
import { parsePartBody } from '../../src/serve/server.js';

const b64 = Buffer.from('some layer bytes, not many').toString('base64');
const sameAsJson = (text: string) => expect(parsePartBody(Buffer.from(text))).toEqual(JSON.parse(text));
const stepsAside = (text: string) => expect(parsePartBody(Buffer.from(text))).toBeUndefined();

test('the SDK body and its variations parse as JSON.parse would', () => {
  sameAsJson(`{"repositoryName":"a/b","uploadId":"u1","partFirstByte":0,"partLastByte":25,"layerPartBlob":"${b64}"}`);
  sameAsJson(`{"layerPartBlob" : \n "${b64}","registryId":"000000000000","partFirstByte":0}`);
  sameAsJson(`{"layerPartBlob":""}`);
  sameAsJson(`{"layerPartBlob":"not base64 at all!","partFirstByte":1}`);
});

test('anything unusual takes the ordinary path', () => {
  stepsAside(`{"repositoryName":"a\\/b","layerPartBlob":"${b64}"}`); // an escape somewhere
  stepsAside(`{"layerPartBlob":"${b64}","layerPartBlob":"${b64}"}`); // a duplicate key: JSON.parse keeps the last
  stepsAside(`{"x":{"layerPartBlob":"${b64}"}}`); // not at the top level
  stepsAside(`{"layerPartBlob":12}`); // not a string
  stepsAside(`{"layerPartBlob":"é"}`); // not ASCII
  stepsAside(`{"layerPartBlob":"${b64}"`); // not JSON
  stepsAside(`["layerPartBlob"]`);
  stepsAside(`{"uploadId":"u1"}`);
  stepsAside(`{"uploadId":"layerPartBlob","partFirstByte":0}`);
});
