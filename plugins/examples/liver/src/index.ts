/**
 * mednext-plugin-liver: an example third-party task plugin (also the template for new ones).
 *
 * Task `liver`: liver (label 1) and liver tumour (label 2) on one CT channel. It shows every
 * declarative field a task can set besides the required ones: CT windowing instead of the MRI
 * z-score, nnU-Net-style file names, a postprocessing step, and its own evaluation protocol.
 */
import { defineTask, NNUNET_NAMING, type TaskDefinition } from '@mednext-ts/mednext/tasks';

export const liverTask: TaskDefinition = defineTask({
  id: 'liver',
  description: 'Liver and liver tumour on CT (example plugin)',
  labels: [
    { value: 1, name: 'LIV', description: 'liver parenchyma' },
    { value: 2, name: 'TUM', description: 'liver tumour' },
  ],
  // Channel order of the network's output; each region is a union of labels.
  regions: [
    // One organ: keep its largest component and fill enclosed holes.
    { name: 'LIVER', labels: [1, 2], threshold: 0.5, minSize: 100, postprocess: ['keep-largest', 'fill-holes'] },
    { name: 'TUMOUR', labels: [2], threshold: 0.5, minSize: 10 },
  ],
  modalities: ['ct'],
  // Binarised regions become labels in this order, later ones overwriting earlier ones.
  regionsToLabels: [
    { region: 'LIVER', label: 1 },
    { region: 'TUMOUR', label: 2 },
  ],
  // Hounsfield units clipped to an abdominal window, then z-scored over the case.
  normalization: { ct: { method: 'ct', window: [-100, 400] } },
  // <ID>/<ID>_0000.nii.gz (channel 0) and <ID>/<ID>.nii.gz (labels), as nnU-Net names them.
  inputNaming: NNUNET_NAMING,
  // Lesion-wise Dice and HD95 over LIVER and TUMOUR: components within 1 voxel of each other
  // form one lesion; GT lesions of 10 mm³ or less are not counted.
  evaluation: {
    score: 'lesion-wise',
    dilation: 1,
    minLesionSize: { value: 10, unit: 'mm3' },
    minPredictionSize: { value: 5, unit: 'voxels' },
  },
  training: {
    preset: 'S',
    kernelSize: 3,
    patchSize: [128, 128, 128],
    batchSize: 2,
    epochs: 100,
    iterationsPerEpoch: 250,
    learningRate: 0.001,
    weightDecay: 0,
    loss: 'dice-bce',
    folds: 5,
  },
});

/** The tasks this plugin registers (mednext reads this export). */
export const tasks: TaskDefinition[] = [liverTask];
