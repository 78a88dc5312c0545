import { Module } from '@nestjs/common';
import { AmazonModule } from '../amazon/amazon.module';
import { ConnectionImportController } from './connection-import.controller';
import { ConnectionImporter } from './connection-importer';

/** Importing existing refresh tokens over HTTP (`npm run import` uses the importer directly). */
@Module({
  imports: [AmazonModule],
  controllers: [ConnectionImportController],
  providers: [ConnectionImporter],
})
export class ConnectionImportModule {}
