import {
  ChangeDetectionStrategy,
  Component,
  computed,
  input,
} from '@angular/core';
import { MatIcon } from '@angular/material/icon';
import { MatTooltip } from '@angular/material/tooltip';
import type { AdsProfileDto, DspAdvertiserDto } from '@keeper/contracts';
import { calendarDate, exactTime } from '../core/time-format';

/** Words for an Ads account type (`seller`, `vendor`, `agency`). */
export function accountTypeName(type: string): string {
  return type ? type.charAt(0).toUpperCase() + type.slice(1) : 'Unknown type';
}

/**
 * What a connection reaches: its advertising profiles, those Amazon no longer lists marked as
 * lost with the day it noticed, and the DSP advertisers of its agency profiles with the profile
 * to use as their scope. Only the lists: the card puts them in a panel, a detail view may not.
 */
@Component({
  selector: 'atk-profile-list',
  imports: [MatIcon, MatTooltip],
  template: `
    <ul class="profile-list" aria-label="Advertising profiles">
      @for (profile of rows(); track profile.profileId) {
        <li [class.lost]="profile.lostAt">
          <span class="country"
            ><span class="visually-hidden">Country </span
            >{{ profile.countryCode }}</span
          >
          <span class="account">{{ profile.accountName }}</span>
          <span class="type">{{ profile.typeName }}</span>
          <span class="id"
            ><span class="visually-hidden">Profile id </span
            ><code>{{ profile.profileId }}</code></span
          >
          @if (profile.lostAt; as lostAt) {
            <span class="lost-marker" [matTooltip]="exactTime(lostAt)">
              <mat-icon aria-hidden="true">block</mat-icon>
              Lost since
              <time [attr.datetime]="lostAt">{{ calendarDate(lostAt) }}</time>
            </span>
          }
        </li>
      }
    </ul>
    @if (lostCount()) {
      <p class="lost-meaning">
        Amazon no longer lists the
        {{ lostCount() === 1 ? 'profile' : 'profiles' }} marked lost: calls with
        {{ lostCount() === 1 ? 'it' : 'one of them' }} as the scope are refused.
        The connection itself is fine.
      </p>
    }
    @if (advertisers().length) {
      <h3 class="dsp-heading" [id]="dspHeadingId">DSP advertisers</h3>
      <ul class="dsp-list" [attr.aria-labelledby]="dspHeadingId">
        @for (advertiser of advertisers(); track advertiser.key) {
          <li>
            <span class="country"
              ><span class="visually-hidden">Country </span
              >{{ advertiser.countryCode }}</span
            >
            <span class="account">{{ advertiser.name }}</span>
            <span class="id"
              ><span class="visually-hidden">Advertiser id </span
              ><code>{{ advertiser.advertiserId }}</code></span
            >
            <span class="under">
              under profile <code>{{ advertiser.profileId }}</code>
              @if (advertiser.profileName; as name) {
                ({{ name }})
              }
            </span>
          </li>
        }
      </ul>
    }
  `,
  styles: `
    :host {
      display: block;
    }

    ul {
      margin: 0;
      padding: 0;
      list-style: none;
    }

    li {
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      gap: 4px 12px;
      padding: 6px 0;
      border-top: 1px solid var(--mat-sys-outline-variant);
    }

    .country {
      min-width: 2.5em;
      font: var(--mat-sys-label-large);
    }

    .account {
      flex: 1;
      min-width: 8em;
      overflow-wrap: anywhere;
    }

    .type,
    .id,
    .under,
    .lost-meaning {
      color: var(--mat-sys-on-surface-variant);
    }

    li.lost .account {
      text-decoration: line-through;
    }

    .lost-marker {
      display: inline-flex;
      align-items: center;
      gap: 4px;
      padding: 0 8px;
      border-radius: var(--mat-sys-corner-small);
      background: var(--mat-sys-error-container);
      color: var(--mat-sys-on-error-container);
      font: var(--mat-sys-label-medium);

      mat-icon {
        width: 16px;
        height: 16px;
        font-size: 16px;
      }
    }

    .lost-meaning {
      margin: 8px 0 0;
      font: var(--mat-sys-body-small);
    }

    .dsp-heading {
      margin: 16px 0 4px;
      font: var(--mat-sys-title-small);
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ProfileList {
  private static nextId = 0;

  readonly profiles = input.required<readonly AdsProfileDto[]>();
  readonly dspAdvertisers = input<readonly DspAdvertiserDto[]>([]);

  protected readonly dspHeadingId = `atk-dsp-heading-${ProfileList.nextId++}`;
  protected readonly exactTime = exactTime;
  protected readonly calendarDate = calendarDate;

  protected readonly rows = computed(() =>
    this.profiles().map((profile) => ({
      ...profile,
      typeName: accountTypeName(profile.accountType),
    })),
  );

  protected readonly lostCount = computed(
    () => this.profiles().filter((profile) => profile.lostAt).length,
  );

  protected readonly advertisers = computed(() => {
    const names = new Map(
      this.profiles().map((profile) => [
        profile.profileId,
        profile.accountName,
      ]),
    );
    return this.dspAdvertisers().map((advertiser) => ({
      ...advertiser,
      // One advertiser may be managed under two agency profiles.
      key: `${advertiser.profileId}/${advertiser.advertiserId}`,
      profileName: names.get(advertiser.profileId) ?? null,
    }));
  });
}
