import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { round } from './stats';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  os: string;
  totalMemoryGb: number;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    node: process.version,
    os: `${osType()} ${release()}`,
    totalMemoryGb: round(totalmem() / 1024 ** 3, 1),
    loadAverage: loadavg().map((value) => round(value, 2)),
  };
}
