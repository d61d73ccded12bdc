/**
 * The seed paper's inference conventions (BioMedIA-MBZUAI's BraTS 2024 code), kept apart from
 * the project's own: used only by task variants that name the `seed-paper` pipeline
 * (`ssa-paper`, `ped-paper`), to run the team's released checkpoints as their code does.
 */
export * from './conventions.js';
export * from './monai-window.js';
export * from './preprocess.js';
export * from './inference.js';
export * from './postprocess.js';
export * from './pipeline.js';
