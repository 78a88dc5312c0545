import { Global, Module } from '@nestjs/common';
import { ConnectionTwins } from './connection-twins';
import { ConnectionsController } from './connections.controller';
import { ConnectionsRepository } from './connections.repository';
import { ConnectionsService } from './connections.service';

/**
 * The connection's home: its entity, the one repository that reads and writes the
 * `connections` table, the rules about it (`connection-rules.ts`), and the admin's reads, renames
 * and disconnects. Global, like the database and the audit: connect, refresh, access tokens,
 * events and metrics use the repository.
 */
@Global()
@Module({
  controllers: [ConnectionsController],
  providers: [ConnectionsRepository, ConnectionTwins, ConnectionsService],
  exports: [ConnectionsRepository, ConnectionTwins],
})
export class ConnectionsModule {}
