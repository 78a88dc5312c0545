import { DynamicModule, Global, Module } from '@nestjs/common';
import { Database } from './database';
import { DatabaseService } from './database.service';
import { DATABASE_MODEL, DATABASE_TARGET } from './database.tokens';
import { DatabaseModel, DatabaseTarget } from './data-source-options';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(
    target: DatabaseTarget & { migrate: boolean },
    model: DatabaseModel,
  ): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_TARGET, useValue: target },
        { provide: DATABASE_MODEL, useValue: model },
        DatabaseService,
        { provide: Database, useExisting: DatabaseService },
      ],
      exports: [DatabaseService, Database, DATABASE_TARGET],
    };
  }
}
