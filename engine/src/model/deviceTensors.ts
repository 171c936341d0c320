// Keys and values that a model's sessions left in device memory. onnxruntime frees such tensors
// only when told (runtime/ort.ts), states share them (DecodeState.fork copies references), and a
// tensor freed after the session that made it was released crashes the process (onnxruntime-node
// 1.30 on WebGPU, checked 2026-12-06). So one owner per model counts them: each state that holds
// a tensor counts once, the last to let go frees it, and the model frees what is left before it
// releases its sessions. Host tensors are not counted; the garbage collector frees those.
import { freeDeviceTensor, isOnDevice, type Tensor } from '../runtime/ort';

export class DeviceTensors {
  private readonly holders = new Map<Tensor, number>();

  /** One more holder of `tensor` (nothing for a host tensor). */
  hold(tensor: Tensor): void {
    if (isOnDevice(tensor)) this.holders.set(tensor, (this.holders.get(tensor) ?? 0) + 1);
  }

  /** One holder fewer; the last one frees it. A tensor not counted here (host, or freed by freeAll) is left alone. */
  letGo(tensor: Tensor): void {
    const count = this.holders.get(tensor);
    if (count === undefined) return;
    if (count > 1) return void this.holders.set(tensor, count - 1);
    this.holders.delete(tensor);
    freeDeviceTensor(tensor);
  }

  /** Tensors still held by some state (for tests and diagnostics). */
  get size(): number {
    return this.holders.size;
  }

  /** Frees every tensor still held, whoever holds it: the model is being released. */
  freeAll(): void {
    for (const tensor of this.holders.keys()) freeDeviceTensor(tensor);
    this.holders.clear();
  }
}
