import { DynamicModule, Global, Module } from '@nestjs/common';
import { DataSourceProvider } from './data-source-provider';
import { DatabaseService } from './database.service';
import { DATABASE_TARGET } from './database.tokens';
import { DatabaseTarget } from './data-source-options';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(target: DatabaseTarget & { migrate: boolean }): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: DATABASE_TARGET, useValue: target },
        DatabaseService,
        { provide: DataSourceProvider, useExisting: DatabaseService },
      ],
      exports: [DatabaseService, DataSourceProvider, DATABASE_TARGET],
    };
  }
}
