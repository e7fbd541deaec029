import t from 'tap'
import { SimDisk } from '../src/sim-disk.ts'
import { complianceSuite } from './support/compliance.ts'

complianceSuite(t, async () => ({ disk: new SimDisk(), cleanup: async () => {} }))
