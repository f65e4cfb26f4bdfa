/**
 * @backprop/mlp: the paper's multilayer perceptrons on @backprop/graph, networks defined in model
 * files, MNIST, training any of them, and the hand-derived backward pass of §2.1 as an independent
 * check of the tape. In a browser, import `@backprop/mlp/core`: all of this but files and threads.
 *
 * @module @backprop/mlp
 */
export * from './core.ts';
// Node's train: evaluation in a second thread when `threads` allows (it takes the place of the core's).
export { train } from './train-threads.ts';
export { loadModelFile, hashModelFile, checkDefinition, type ModelOptions } from './modelfile.ts';
export { defaultMnistDir, loadMnist, loadSplit, readIdx, type DataSets, type Mnist } from './mnist.ts';
export { isArrayData, loadArrays, loadData } from './arrays.ts';
export { saveModel, loadModel, readTensorFile, restoreNetwork, encodeSafetensors, decodeSafetensors, type LoadedModel } from './safetensors.ts';
export { writeFileAtomic, fileError, readUserFile, MAX_FILE_BYTES, type WriteFn } from './files.ts';
