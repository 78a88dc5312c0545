import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ServiceKeysController } from './service-keys.controller';
import { ServiceKeysService } from './service-keys.service';

/** The admin's keys for jobs; the verifier that checks them is the auth module's. */
@Module({
  imports: [AuthModule],
  controllers: [ServiceKeysController],
  providers: [ServiceKeysService],
})
export class ServiceKeysModule {}
